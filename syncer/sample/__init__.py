"""The sample shop and the demo: data generator, shop activity, emulator fleet, ``make demo``."""
