"""Flask blueprints and map builders: HTTP in, service calls, HTML/JSON out."""
