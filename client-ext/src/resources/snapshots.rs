//! Snapshots of a project and the snapshot schedule of a branch.

use crate::call::run;
use crate::resources::{List, check_required, list_fetch};
use crate::{Client, Error, FieldMask, Operation, ProjectName, SnapshotName, SnapshotScheduleName, types};

impl Client {
    /// Takes snapshot `snapshot_id` in `parent`; `spec.source_branch` is required.
    pub async fn create_snapshot(
        &self,
        parent: &ProjectName,
        snapshot_id: &str,
        snapshot: types::Snapshot,
    ) -> Result<Operation<types::Snapshot, types::SnapshotOperationMetadata>, Error> {
        let name = parent.snapshot(snapshot_id)?;
        check_required("snapshot", &snapshot)?;
        let op = run(
            "Operation",
            self.raw()
                .create_snapshot(name.project_id(), name.snapshot_id(), &snapshot),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Gets a snapshot.
    pub async fn get_snapshot(&self, name: &SnapshotName) -> Result<types::Snapshot, Error> {
        run(
            "Snapshot",
            self.raw().get_snapshot(name.project_id(), name.snapshot_id()),
        )
        .await
    }

    /// Lists the snapshots of a project.
    pub fn list_snapshots(&self, parent: &ProjectName) -> List<types::Snapshot> {
        let parent = parent.clone();
        List::new(list_fetch!(
            self,
            ListSnapshotsResponse,
            [parent],
            |raw, query, token| raw.list_snapshots(parent.project_id(), query.page_size, token)
        ))
    }

    /// Deletes a snapshot.
    pub async fn delete_snapshot(
        &self,
        name: &SnapshotName,
    ) -> Result<Operation<(), types::SnapshotOperationMetadata>, Error> {
        let op = run(
            "Operation",
            self.raw().delete_snapshot(name.project_id(), name.snapshot_id()),
        )
        .await?;
        Operation::new(self.clone(), op)
    }

    /// Gets the snapshot schedule of a branch (empty when none is set).
    pub async fn get_snapshot_schedule(&self, name: &SnapshotScheduleName) -> Result<types::SnapshotSchedule, Error> {
        run(
            "SnapshotSchedule",
            self.raw().get_snapshot_schedule(name.project_id(), name.branch_id()),
        )
        .await
    }

    /// Replaces the snapshot schedule of a branch (the only mask path is `schedule`).
    pub async fn update_snapshot_schedule(
        &self,
        name: &SnapshotScheduleName,
        schedule: types::SnapshotSchedule,
        update_mask: &FieldMask,
    ) -> Result<Operation<types::SnapshotSchedule, types::SnapshotScheduleOperationMetadata>, Error> {
        let mask = update_mask.to_string();
        let raw = self.raw();
        let op = run(
            "Operation",
            raw.update_snapshot_schedule(name.project_id(), name.branch_id(), &mask, &schedule),
        )
        .await?;
        Operation::new(self.clone(), op)
    }
}
