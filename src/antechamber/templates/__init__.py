"""Queue pages: the default template, its translations, and Mustache rendering."""
