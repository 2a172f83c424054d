"""Result formats: human, JSON, JUnit XML, GitHub annotations."""
