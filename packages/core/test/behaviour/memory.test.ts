import { layerMemory } from "../../src/storage/memory/index.js"
import { behaviourSuite } from "./suite.js"

behaviourSuite("memory", () => layerMemory)
