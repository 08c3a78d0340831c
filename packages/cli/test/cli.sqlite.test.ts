import { describe } from "vitest"
import { cliFlows } from "./flows.js"
import { sqliteDb } from "./support/cli.js"

describe("lagrello on SQLite", () => cliFlows(sqliteDb))
