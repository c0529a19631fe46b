"""The quizzes app's pages; each module is one audience (authoring, attempts, review, picker)."""
