"""Server-rendered pages: every role's pages and the classroom, in Arabic and English."""
