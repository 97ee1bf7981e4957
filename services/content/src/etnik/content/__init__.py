"""EtNik content service: methodological materials, files, publications and NGO strategies."""
