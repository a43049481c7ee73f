"""Format converters, one module per format (installed as ``nmlhub.converters``)."""
