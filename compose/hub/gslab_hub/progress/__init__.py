"""The teacher's view of a class: a JupyterHub service that keeps every check cell's verdict.

Each lab's check cells (grayscott/labs/progress.py) post their verdict here with the lab's own
token; the service asks the hub whose token it is (never the request body), stores the verdict
in SQLite in the hub's data volume (a restart of the hub, of the service, or ``make hub-down``
then ``make hub`` loses nothing), and serves the teachers a live grid: students x exercises,
per exercise how many passed, how many are stuck and on which mistake, a student's history,
CSV and JSON. Teachers are the hub's ``teacher`` role or ``teachers`` group (or an admin); a
student sees her own row only.

What it is not: a grade book. The check runs in the student's kernel, so a student can send
herself a pass; the page is for seeing who needs help.

Modules: ``store`` (the SQLite table and the class summary, pure), ``app`` (the tornado
handlers behind the hub's OAuth), ``page`` (the HTML of the grid), ``__main__`` (what the hub
starts as its managed service ``progress``).
"""

#: the service's name in the hub (its URL prefix /services/progress/, its OAuth client)
SERVICE = "progress"
#: the port it listens on inside the hub's container: the proxy's route and the labs' posts
PORT = 10102
