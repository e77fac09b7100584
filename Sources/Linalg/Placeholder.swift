public enum Linalg {}
