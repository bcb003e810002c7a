"""One module per step of the flow; ROUTES lists them all."""

from importer.ui.routes import (
    columns,
    files,
    history,
    home,
    key,
    online,
    questions,
    remedies,
    results,
    review,
    send,
)

ROUTES = [
    *home.routes,
    *columns.routes,
    *questions.routes,
    *review.routes,
    *remedies.routes,
    *online.routes,
    *send.routes,
    *results.routes,
    *files.routes,
    *history.routes,
    *key.routes,
]
