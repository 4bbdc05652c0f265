"""Administration: recipients, the doses given, registry exports, the recipient portal, imports."""
