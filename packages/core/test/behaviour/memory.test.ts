import { layerMemory } from "../../src/storage/memory/index.js"
import { operatorSuite } from "./operator-suite.js"
import { eventsSuite } from "./events-suite.js"
import { webhooksSuite } from "./webhooks-suite.js"
import { recoverySuite } from "./recovery-suite.js"
import { behaviourSuite } from "./suite.js"

behaviourSuite("memory", () => layerMemory)
recoverySuite("memory", () => layerMemory)
operatorSuite("memory", () => layerMemory)
eventsSuite("memory", () => layerMemory)
webhooksSuite("memory", () => layerMemory)
