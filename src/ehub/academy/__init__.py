"""Academy: courses, lessons, quizzes, enrolments, certificates, export readiness (to come)."""
