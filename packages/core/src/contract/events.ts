/**
 * The `events` and `webhooks` groups (SPEC 6, beyond v1): the event log's pull API, and the
 * tenant's webhook endpoints with their delivery logs. ADMIN tokens only.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  CreateWebhookRequest,
  EventPage,
  EventTypeSchema,
  WebhookDeliveryList,
  WebhookList,
  WebhookWithSecret
} from "../domain/events.js"
import { operation } from "./openapi-transform.js"
import { Authentication, RequiredPermission, SecretAnswer } from "./security.js"
import { NotFoundWire, UnavailableWire } from "./wire-errors.js"

const limitMessage = () => "limit must be a whole number between 1 and 1000"

/**
 * The query of `GET /v1/events`: `after` (the `next` of the previous page), `limit` (1-1000,
 * default 100) and `type` (one event type), all optional.
 * @since 0.0.0
 */
export const EventListParams = Schema.Struct({
  after: Schema.optionalWith(
    Schema.String.pipe(Schema.maxLength(200, { message: () => "after must be the next cursor of an earlier answer" }))
      .annotations({ description: "The next cursor of the previous answer (leave out to read from the oldest event)" }),
    { exact: true }
  ),
  limit: Schema.optionalWith(
    Schema.compose(
      Schema.NumberFromString.annotations({ message: limitMessage }),
      Schema.Int.annotations({ message: limitMessage }).pipe(
        Schema.greaterThanOrEqualTo(1, { message: limitMessage }),
        Schema.lessThanOrEqualTo(1000, { message: limitMessage })
      )
    ).annotations({
      description: "Events per answer (1-1000; default 100)",
      jsonSchema: { type: "integer", minimum: 1, maximum: 1000, description: "Events per answer (1-1000; default 100)" }
    }),
    { exact: true }
  ),
  type: Schema.optionalWith(EventTypeSchema, { exact: true })
})

/** @since 0.0.0 */
export type EventListParams = typeof EventListParams.Type

/**
 * `GET /v1/events?after&limit&type` -> 200 `EventPage`.
 */
const listEvents = HttpApiEndpoint.get("list", "/v1/events")
  .setUrlParams(EventListParams)
  .addSuccess(EventPage)
  .annotateContext(operation({
    id: "events/list",
    summary: "The tenant's events, oldest first, after a cursor",
    description: "Keep next and pass it as after: a reader that does so misses no event and sees none twice, " +
      "also while several replicas write events. Events are kept 30 days (configurable).",
    responses: { 200: "A page of events and the cursor to read on from" }
  }))

/**
 * The events group (bearer token, ADMIN; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class EventsGroup extends HttpApiGroup.make("events")
  .add(listEvents)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotate(RequiredPermission, "ADMIN")
  .annotateContext(OpenApi.annotations({ description: "The audit trail of the tenant's auth events (beyond v1)" }))
{}

const idParam = <const N extends string>(name: N, description: string) =>
  HttpApiSchema.param(
    name,
    Schema.String.pipe(
      Schema.minLength(1, { message: () => `${name} must not be empty` }),
      Schema.maxLength(64, { message: () => `${name} must be at most 64 characters` })
    ).annotations({ description })
  )

/** The `{id}` path parameter of a webhook. @since 0.0.0 */
export const WebhookIdParam = idParam("id", "The webhook's id")

/** The `{deliveryId}` path parameter: the id of the delivered event. @since 0.0.0 */
export const DeliveryIdParam = idParam("deliveryId", "The delivery's id (the event's id)")

/**
 * `POST /v1/webhooks` -> 201 `WebhookWithSecret` (the secret is shown this once).
 */
const createWebhook = HttpApiEndpoint.post("create", "/v1/webhooks")
  .setPayload(CreateWebhookRequest)
  .addSuccess(WebhookWithSecret.annotations(HttpApiSchema.annotations({ status: 201, identifier: "WebhookWithSecret" })))
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "webhooks/create",
    summary: "Adds a webhook endpoint: the events it names are sent to its URL, signed (Standard Webhooks)",
    description: "The secret (whsec_...) is shown this once. URLs on loopback, private and link-local addresses " +
      "are refused unless the server allows them.",
    responses: { 201: "The webhook and its signing secret" }
  }))

/** `GET /v1/webhooks` -> 200 `WebhookList`. */
const listWebhooks = HttpApiEndpoint.get("list", "/v1/webhooks")
  .addSuccess(WebhookList)
  .annotateContext(operation({
    id: "webhooks/list",
    summary: "The tenant's webhook endpoints",
    responses: { 200: "The webhooks, oldest first" }
  }))

/** `DELETE /v1/webhooks/{id}` -> 204. */
const deleteWebhook = HttpApiEndpoint.del("delete")`/v1/webhooks/${WebhookIdParam}`
  .addError(NotFoundWire)
  .annotateContext(operation({
    id: "webhooks/delete",
    summary: "Deletes a webhook endpoint and its delivery log",
    responses: { 204: "Deleted", 404: "webhook could not be found" }
  }))

/** `POST /v1/webhooks/{id}/secret` -> 200 `WebhookWithSecret`: the new secret, shown once. */
const rotateSecret = HttpApiEndpoint.post("rotateSecret")`/v1/webhooks/${WebhookIdParam}/secret`
  .addSuccess(WebhookWithSecret)
  .addError(NotFoundWire)
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "webhooks/rotateSecret",
    summary: "Rotates the webhook's signing secret",
    description: "The old secret keeps signing beside the new one for 24 hours (two v1 signatures in " +
      "webhook-signature), so receivers can switch without losing a delivery.",
    responses: { 200: "The webhook and its new secret", 404: "webhook could not be found" }
  }))

/** `GET /v1/webhooks/{id}/deliveries` -> 200 `WebhookDeliveryList`. */
const listDeliveries = HttpApiEndpoint.get("listDeliveries")`/v1/webhooks/${WebhookIdParam}/deliveries`
  .addSuccess(WebhookDeliveryList)
  .addError(NotFoundWire)
  .annotateContext(operation({
    id: "webhooks/deliveries",
    summary: "The webhook's latest deliveries, newest first, with each attempt",
    responses: { 200: "Up to 100 deliveries, each with its attempts", 404: "webhook could not be found" }
  }))

/** `POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry` -> 204. */
const retryDelivery = HttpApiEndpoint.post("retryDelivery")`/v1/webhooks/${WebhookIdParam}/deliveries/${DeliveryIdParam}/retry`
  .addSuccess(HttpApiSchema.NoContent)
  .addError(NotFoundWire)
  .annotateContext(operation({
    id: "webhooks/retryDelivery",
    summary: "Sends a delivery again now (a webhook disabled for its failures is enabled again)",
    responses: { 204: "Queued", 404: "webhook or delivery could not be found" }
  }))

/**
 * The webhooks group (bearer token, ADMIN; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(createWebhook)
  .add(listWebhooks)
  .add(deleteWebhook)
  .add(rotateSecret)
  .add(listDeliveries)
  .add(retryDelivery)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotate(RequiredPermission, "ADMIN")
  .annotateContext(OpenApi.annotations({ description: "Signed webhooks of the tenant's events (beyond v1)" }))
{}
