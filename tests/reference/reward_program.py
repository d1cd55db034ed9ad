#!/usr/bin/env python3
"""A reward program for tests/unit/reward/program_reward_test.cpp, speaking Tandem's JSON-lines
protocol. What it does per request is chosen by the request's "mode" column:
  ok          reply {"reward": len(completion), "components": {"served": n}} where n counts the
              requests this process has answered (so a test can see the process is long-lived
              and that it was restarted);
  sleep       never reply (the caller's timeout must fire);
  crash       exit with status 3 without replying;
  malformed   reply a line that is not JSON;
  no_reward   reply {"score": 1}.
"""
import json
import sys
import time

served = 0
for line in sys.stdin:
    req = json.loads(line)
    mode = req.get("mode", "ok")
    if mode == "sleep":
        time.sleep(60)
    elif mode == "crash":
        sys.exit(3)
    elif mode == "malformed":
        print("this is not json", flush=True)
    elif mode == "no_reward":
        print(json.dumps({"score": 1}), flush=True)
    else:
        served += 1
        reply = {"reward": float(len(req["completion"])), "components": {"served": served}}
        print(json.dumps(reply), flush=True)
