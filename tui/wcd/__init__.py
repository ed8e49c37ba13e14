"""Windows Configuration Designer's settings: the catalogue and customizations.xml in and out."""
