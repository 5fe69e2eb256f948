import { defineTopicInjectionSuite } from '../suites/topic-injection.suite';

defineTopicInjectionSuite('aedes');
