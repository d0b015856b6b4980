"""Legacy noise on purpose: the monolith made to answer a field that differs every time.

Real monoliths stamp their answers with values that change from one request to the next (a
request id, a timestamp). The shadow comparator asks legacy twice and ignores whatever differs
between the two legacy answers (noise cancellation, Diffy style); this app lets anyone watch it
do so. With ``noise_field`` set, every JSON object a ``/api/`` route answers with 200 gains that
field, with a fresh random value each time.

The flag is kept in core's database, so every worker process (and every replica sharing the
database) applies it, each re-reading it at most once a second. It is changed with
``GET``/``PUT /internal/faults`` (service token required, ``PUT {}`` clears it) or with
``strangler fault core --noise-field NAME``. It persists until cleared.
"""
