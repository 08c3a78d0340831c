import { cliFlows } from "./flows.js"
import { describePostgres, postgresDb } from "./support/cli.js"

// describePostgres: fails in CI without PostgreSQL, skips elsewhere with a message. Each test
// creates the databases it needs.
describePostgres("lagrello on PostgreSQL", () => cliFlows(postgresDb))
