"""The API's route handlers, one module per resource; each exposes `add_routes(router)`."""
