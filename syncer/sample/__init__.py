"""The sample shop: data generator, shop activity, platform translators, emulator fleet (the
demo that uses them is ``syncer.demo``)."""
