class Settings {
    // Not a Gradle file: toolchain-looking text in Java code is not read.
    String s = "languageVersion = JavaLanguageVersion.of(17)";
}
