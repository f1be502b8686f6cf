"""Beyond define: what libvirt does at attach time (:mod:`.plan`) and room for later hotplugs
(:mod:`.room`)."""
