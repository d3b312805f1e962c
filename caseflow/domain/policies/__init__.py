"""Pure policies of the workflow, driven by the rule files: routing, deadlines,
escalation and sanctions. None reads a file, a clock or a database."""
