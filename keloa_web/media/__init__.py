"""Customer media and profile pictures: storage, download, serving."""
