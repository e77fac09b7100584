public enum TransformerModule {}
