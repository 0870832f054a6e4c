extension Worker {
    /// Records a failure at a source location known only at run time, such as the location of an `Issue` that
    /// Swift Testing recorded inside this worker; it travels back like ``fail(_:file:line:)`` and is reported at
    /// `filePath`:`line`. The worker goes on.
    ///
    /// - Cost: one small write to the result channel.
    public func fail(_ message: String, filePath: String, line: Int) {
        send(.failure(message: message, file: filePath, line: Int64(clamping: line), round: Int64(round)))
    }
}
