/// CounterFact and ZsRE metrics, reports and plots.
public enum EvaluationModule {}
