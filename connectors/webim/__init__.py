"""Web chat (WebIM): website visitors over Socket.IO, through the embeddable widget."""

from connectors.webim.connector import WebImConnector
from connectors.webim.namespace import VisitorNamespace

__all__ = ["VisitorNamespace", "WebImConnector"]
