"""The XML layer: reading and writing documents safely, editing elements in place, splicing new
text into the original bytes, and libvirt's way of reading numbers and names."""
