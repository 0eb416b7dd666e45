"""The segment language: YAML files (``loader``), typed rule trees (``model``), the field
catalog (``catalog``) and the compiler to one SQL select (``compiler``)."""
