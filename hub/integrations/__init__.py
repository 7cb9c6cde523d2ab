"""Integrations: the OpenAPI description, outbound webhooks and where they may go."""
