-- POST a small JSON object; the server parses it and answers it back as
-- JSON. The same body as POST_BODY in bench/lib/frameworks.js.
wrk.method = "POST"
wrk.body = '{"name":"node-uring","n":1,"tags":["a","b"]}'
wrk.headers["Content-Type"] = "application/json"
