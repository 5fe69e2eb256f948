/** The topic-injection attack against Mosquitto, which drops a client that publishes a wildcard topic. */
import { defineTopicInjectionSuite } from '../integration/suites/topic-injection.suite';

defineTopicInjectionSuite('mosquitto');
