import { layerMemory } from "../../src/storage/memory/index.js"
import { operatorSuite } from "./operator-suite.js"
import { recoverySuite } from "./recovery-suite.js"
import { behaviourSuite } from "./suite.js"

behaviourSuite("memory", () => layerMemory)
recoverySuite("memory", () => layerMemory)
operatorSuite("memory", () => layerMemory)
