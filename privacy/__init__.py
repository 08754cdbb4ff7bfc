"""What both runtimes (API and bot) share to keep secrets out of what they write.

Only the standard library, python-stdnum and phonenumbers, which both runtimes carry.
"""
