/// Which task a job belongs to, as the runtime tells it (`swift_task_getJobTaskId`).
///
/// Jobs that are not tasks (an actor's processing job, for example) have task id 0; they are told apart by
/// their address instead (bit 63 set, so never equal to a task id): an actor's inline job keeps its address.
enum JobIdentity {
    private typealias GetTaskId = @convention(thin) (UnownedJob) -> UInt64

    /// The runtime's function, looked up once; nil on a runtime without it (every job then counts as its own).
    private static let getTaskId: GetTaskId? = {
        guard let address = try? RuntimeHooks.function("swift_task_getJobTaskId") else { return nil }
        return unsafeBitCast(address, to: GetTaskId.self)
    }()

    /// The job's task id, or `1 << 63 | address` for a job that is not a task.
    static func task(of job: UnownedJob) -> UInt64 {
        if let getTaskId {
            let id = getTaskId(job)
            if id != 0 { return id }
        }
        return (1 << 63) | UInt64(UInt(bitPattern: unsafeBitCast(job, to: Int.self)))
    }

    /// The job's task id as the runtime reports it (0: not a task, or a runtime without the function).
    static func taskID(of job: UnownedJob) -> UInt64 {
        guard let getTaskId else { return 0 }
        return getTaskId(job)
    }
}
