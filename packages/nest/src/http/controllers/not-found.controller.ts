/**
 * Answers what the v1 API does not serve, in the v1 error shape: the billing endpoints and public
 * tenant sign-up of the hosted service, and any unknown `/v1/...` path. Registered last.
 *
 * @since 0.0.0
 */
import { NotFound } from "@lagrello/core"
import { All, Controller, Delete, Get, Post, UseFilters } from "@nestjs/common"
import { LagrelloExceptionFilter } from "../exception.filter.js"

const notSelfHosted = new NotFound({
  message: "Billing and tenant sign-up are not part of a self-hosted Lagrello server; configure the tenant at start"
})

/** @since 0.0.0 */
@Controller("v1")
@UseFilters(LagrelloExceptionFilter)
export class NotFoundController {
  @Post("tenant")
  signUp(): never {
    throw notSelfHosted
  }

  @Delete("tenant")
  deleteTenant(): never {
    throw notSelfHosted
  }

  @Post("tenant/activate")
  activate(): never {
    throw notSelfHosted
  }

  @Get("tenant/cardtoken")
  cardToken(): never {
    throw notSelfHosted
  }

  @All("*")
  unknown(): never {
    throw new NotFound({ message: "No such endpoint in the Lagrello v1 API" })
  }
}
