/** The headers of the demo's HTML pages, as one decorator. */
import { applyDecorators, Header } from "@nestjs/common"
import { pageHeaders } from "./html.js"

export const PageHeaders = () => applyDecorators(...pageHeaders.map(([name, value]) => Header(name, value)))
