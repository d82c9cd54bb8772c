"""Files shipped inside the package (the demo registry, so an installed wheel can run ``prefkit demo``)."""
