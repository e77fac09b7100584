import Editing

/// Progress of an evaluation: the same events as an edit job (`.stage`, `.progress` per record,
/// `.note`), so the CLI draws both the same way.
public typealias EvaluationEventHandler = EditEventHandler
