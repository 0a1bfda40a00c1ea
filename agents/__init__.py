"""The Faust side of Switchyard: the app, its topics, the processing agent and the worker."""
