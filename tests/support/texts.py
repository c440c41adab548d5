"""Texts shared by the service tests and the service benchmark."""

PARAGRAPH = (
    "在一个阳光明媚的早晨，小明背着书包走进了学校。他看到同学们正在操场上做早操，老师站在前面"
    "认真地示范着每一个动作。上课铃响了，大家回到教室，开始了新一天的学习。数学课上，老师讲解了"
    "分数的加减法，同学们都听得很认真。下课后，小明和朋友们一起在走廊里讨论刚才的题目，有人提出"
    "了不同的解法，大家争论得很热烈。最后，他们一起去请教老师，终于弄明白了其中的道理，心里"
    "别提多高兴了。放学以后，他们高高兴兴地回家了。"
)
"""About 200 characters in several sentences: first audio must not wait for all of it."""
