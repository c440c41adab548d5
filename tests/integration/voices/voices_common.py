"""What the voice-set tests share."""

FEMALE, MALE = "aiyue", "aicheng"
SENTENCE = "欢迎使用多地域语音合成服务，今天天气很好。"
