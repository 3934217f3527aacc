//! Payload analysis jobs of the service (`POST /v1/payload/jobs`): the submitted text and
//! how it is to be analysed, its status, and the verdict once done. A job is claimed by one
//! worker at a time; jobs left running by a process that stopped are queued again when the
//! next one starts.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, now, q};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> JobStatus {
        match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            _ => JobStatus::Failed,
        }
    }
}

/// A job as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob<'a> {
    pub tenant: &'a str,
    pub text: &'a str,
    pub shell: Option<&'a str>,
    pub sandbox: bool,
    pub submitted_by: &'a str,
    /// Who ran it and where, when the submitter says.
    pub user: Option<&'a str>,
    pub host: Option<&'a str>,
    /// When it ran (RFC 3339), when the submitter says.
    pub occurred_at: Option<&'a str>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadJob {
    pub id: i64,
    #[serde(skip)]
    pub tenant: String,
    pub status: JobStatus,
    pub shell: Option<String>,
    pub sandbox: bool,
    #[serde(skip)]
    pub text: String,
    /// The verdict, as JSON text.
    #[serde(skip)]
    pub verdict: Option<String>,
    pub error: Option<String>,
    pub submitted_by: String,
    pub user: Option<String>,
    pub host: Option<String>,
    pub occurred_at: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

const COLUMNS: &str = "id, tenant, status, shell, sandbox, text, verdict, error, submitted_by, \
                       user_name, host, occurred_at, created_at, started_at, finished_at";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PayloadJob> {
    let status: String = r.get(2)?;
    Ok(PayloadJob {
        id: r.get(0)?,
        tenant: r.get(1)?,
        status: JobStatus::parse(&status),
        shell: r.get(3)?,
        sandbox: r.get::<_, i64>(4)? != 0,
        text: r.get(5)?,
        verdict: r.get(6)?,
        error: r.get(7)?,
        submitted_by: r.get(8)?,
        user: r.get(9)?,
        host: r.get(10)?,
        occurred_at: r.get(11)?,
        created_at: r.get(12)?,
        started_at: r.get(13)?,
        finished_at: r.get(14)?,
    })
}

impl Store {
    /// Queues a job unless the tenant already has `max_queued` waiting or running; its id,
    /// or `None` when the queue is full. The tenant's finished jobs beyond the newest
    /// `max_kept` are deleted in the same transaction, so what one tenant keeps is bounded
    /// however fast it submits.
    pub fn queue_payload_job(
        &mut self,
        job: &NewJob<'_>,
        max_queued: usize,
        max_kept: usize,
    ) -> Result<Option<i64>, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(q("queueing a payload job"))?;
        let waiting: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM payload_jobs WHERE tenant = ?1 AND status IN ('queued', 'running')",
                params![job.tenant],
                |r| r.get(0),
            )
            .map_err(q("counting payload jobs"))?;
        if usize::try_from(waiting).unwrap_or(usize::MAX) >= max_queued {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO payload_jobs (tenant, status, shell, sandbox, text, submitted_by, user_name, host, occurred_at, created_at)
             VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                job.tenant,
                job.shell,
                job.sandbox,
                job.text,
                job.submitted_by,
                job.user,
                job.host,
                job.occurred_at,
                now()
            ],
        )
        .map_err(q("queueing a payload job"))?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM payload_jobs WHERE id IN (
                 SELECT id FROM payload_jobs
                 WHERE tenant = ?1 AND status IN ('done', 'failed')
                 ORDER BY id DESC LIMIT -1 OFFSET ?2)",
            params![job.tenant, i64::try_from(max_kept).unwrap_or(i64::MAX)],
        )
        .map_err(q("dropping a tenant's oldest payload jobs"))?;
        tx.commit().map_err(q("queueing a payload job"))?;
        Ok(Some(id))
    }

    /// Marks the oldest queued job running and returns it.
    pub fn claim_payload_job(&mut self) -> Result<Option<PayloadJob>, StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(q("claiming a payload job"))?;
        let sql = format!(
            "SELECT {COLUMNS} FROM payload_jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
        );
        let job = tx
            .query_row(&sql, [], job_row)
            .optional()
            .map_err(q("claiming a payload job"))?;
        let Some(mut job) = job else {
            return Ok(None);
        };
        let started = now();
        tx.execute(
            "UPDATE payload_jobs SET status = 'running', started_at = ?2 WHERE id = ?1",
            params![job.id, started],
        )
        .map_err(q("claiming a payload job"))?;
        tx.commit().map_err(q("claiming a payload job"))?;
        job.status = JobStatus::Running;
        job.started_at = Some(started);
        Ok(Some(job))
    }

    /// Records a job's end: its verdict (JSON) or why it failed.
    pub fn finish_payload_job(
        &self,
        id: i64,
        outcome: Result<&str, &str>,
    ) -> Result<(), StoreError> {
        let (status, verdict, error) = match outcome {
            Ok(v) => ("done", Some(v), None),
            Err(e) => ("failed", None, Some(e)),
        };
        self.conn
            .execute(
                "UPDATE payload_jobs SET status = ?2, verdict = ?3, error = ?4, finished_at = ?5
                 WHERE id = ?1",
                params![id, status, verdict, error, now()],
            )
            .map_err(q("finishing a payload job"))?;
        Ok(())
    }

    /// One of a tenant's jobs.
    pub fn payload_job(&self, tenant: &str, id: i64) -> Result<Option<PayloadJob>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payload_jobs WHERE tenant = ?1 AND id = ?2");
        self.conn
            .query_row(&sql, params![tenant, id], job_row)
            .optional()
            .map_err(q("reading a payload job"))
    }

    /// Jobs left running by a process that stopped go back to the queue; how many.
    pub fn requeue_payload_jobs(&self) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE payload_jobs SET status = 'queued', started_at = NULL WHERE status = 'running'",
                [],
            )
            .map_err(q("requeueing payload jobs"))
    }

    /// Deletes finished jobs older than `before` (RFC 3339); how many.
    pub fn prune_payload_jobs(&self, before: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM payload_jobs WHERE status IN ('done', 'failed') AND finished_at < ?1",
                params![before],
            )
            .map_err(q("pruning payload jobs"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job<'a>(tenant: &'a str, text: &'a str) -> NewJob<'a> {
        NewJob {
            tenant,
            text,
            shell: Some("bash"),
            sandbox: true,
            submitted_by: "token:1",
            user: Some("alice"),
            host: None,
            occurred_at: None,
        }
    }

    #[test]
    fn a_tenant_keeps_at_most_its_newest_finished_jobs() {
        let mut s = Store::open_in_memory().unwrap();
        let mut ids = Vec::new();
        for i in 0..5 {
            let id = s
                .queue_payload_job(&job("t1", "ls"), 10, 3)
                .unwrap()
                .unwrap();
            let claimed = s.claim_payload_job().unwrap().unwrap();
            assert_eq!(claimed.id, id);
            s.finish_payload_job(id, if i % 2 == 0 { Ok("{}") } else { Err("x") })
                .unwrap();
            ids.push(id);
        }
        let other = s
            .queue_payload_job(&job("t2", "id"), 10, 3)
            .unwrap()
            .unwrap();
        s.finish_payload_job(other, Ok("{}")).unwrap();
        // A waiting job is never dropped; queueing it kept t1's 3 newest finished ones.
        let waiting = s
            .queue_payload_job(&job("t1", "w"), 10, 3)
            .unwrap()
            .unwrap();
        let kept: Vec<bool> = ids
            .iter()
            .map(|id| s.payload_job("t1", *id).unwrap().is_some())
            .collect();
        assert_eq!(kept, [false, false, true, true, true]);
        assert!(s.payload_job("t1", waiting).unwrap().is_some());
        assert!(
            s.payload_job("t2", other).unwrap().is_some(),
            "another tenant's"
        );
    }

    #[test]
    fn queue_claim_finish_and_bounds() {
        let mut s = Store::open_in_memory().unwrap();
        let a = s
            .queue_payload_job(&job("t1", "ls"), 2, 100)
            .unwrap()
            .unwrap();
        let b = s
            .queue_payload_job(&job("t1", "id"), 2, 100)
            .unwrap()
            .unwrap();
        // The tenant's queue is full; another tenant's is not.
        assert_eq!(s.queue_payload_job(&job("t1", "w"), 2, 100).unwrap(), None);
        assert!(
            s.queue_payload_job(&job("t2", "w"), 2, 100)
                .unwrap()
                .is_some()
        );
        let first = s.claim_payload_job().unwrap().unwrap();
        assert_eq!(
            (first.id, first.status, first.text.as_str()),
            (a, JobStatus::Running, "ls")
        );
        assert_eq!(first.user.as_deref(), Some("alice"));
        s.finish_payload_job(a, Ok("{\"score\":1}")).unwrap();
        let done = s.payload_job("t1", a).unwrap().unwrap();
        assert_eq!(done.status, JobStatus::Done);
        assert_eq!(done.verdict.as_deref(), Some("{\"score\":1}"));
        assert!(done.finished_at.is_some());
        // Another tenant cannot read it.
        assert!(s.payload_job("t2", a).unwrap().is_none());
        // A job left running is queued again at the next start.
        let second = s.claim_payload_job().unwrap().unwrap();
        assert_eq!(second.id, b);
        assert_eq!(s.requeue_payload_jobs().unwrap(), 1);
        assert_eq!(s.claim_payload_job().unwrap().unwrap().id, b);
        s.finish_payload_job(b, Err("the sandbox could not start"))
            .unwrap();
        assert_eq!(
            s.payload_job("t1", b).unwrap().unwrap().status,
            JobStatus::Failed
        );
        assert_eq!(s.prune_payload_jobs("9999").unwrap(), 2);
    }
}
