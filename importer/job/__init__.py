"""The import job: drives read -> check -> send -> report for every front end."""
