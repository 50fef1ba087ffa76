"""haplan services: one package per service, each a pure core and a thin NATS shell."""
