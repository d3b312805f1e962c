"""Commands in, events persisted: the layer between the web app and the store."""
