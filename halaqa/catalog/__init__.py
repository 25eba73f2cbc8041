"""The catalog: groups (circles, courses, interactive courses) and enrollments."""
