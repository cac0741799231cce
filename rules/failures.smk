# After a failed run (with --keep-going, every event that could be done is done), write the
# report of what finished to <run>/report/partial/, each failed event listed with the error
# its jobs logged, and print those errors. The workflow's own report stays for complete runs.


onerror:
    report_after_failure()
