"""Pictures for the pages: the geometry of each chart computed here in plain Python (and tested
as such); the templates only draw it as inline SVG."""
